-- URL-index claims still owed: written in the same statement as a link that had to go to another
-- shard because its URL's own shard primary was down. The repair claims each on the URL's shard
-- once that primary is back, and deletes the row; it survives restarts, so dedupe is never lost.
CREATE TABLE pending_claims (
  url_hash bytea NOT NULL,
  long_url text NOT NULL,
  code text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (url_hash, code)
);
