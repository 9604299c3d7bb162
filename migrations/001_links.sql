-- Short code -> long URL. Lives on the shard the ring picks for the code.
CREATE TABLE links (
  code text PRIMARY KEY,
  id bigint NOT NULL UNIQUE,
  long_url text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
