-- The long-URL index lives on the shard the ring picks for the URL itself (dedupe).
CREATE TABLE url_index (
  url_hash bytea PRIMARY KEY,
  long_url text NOT NULL,
  code text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
