-- Abuse reports (POST /api/report), on the catalog shard (shard 0). The reporter's address is
-- not kept: reports are limited per address in Redis, and the reason is all an operator needs.
CREATE TABLE link_reports (
  id bigserial PRIMARY KEY,
  code text NOT NULL,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX link_reports_newest ON link_reports (created_at DESC, id DESC);
