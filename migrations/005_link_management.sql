-- Links that people manage: an owner (an API key's id; null for anonymous links), custom
-- aliases, expiry and a visit budget. visits is only counted for links with max_visits (it is
-- checked on the redirect itself); plain clicks live in link_clicks.
ALTER TABLE links
  ADD COLUMN owner text,
  ADD COLUMN alias boolean NOT NULL DEFAULT false,
  ADD COLUMN expires_at timestamptz,
  ADD COLUMN max_visits bigint,
  ADD COLUMN visits bigint NOT NULL DEFAULT 0,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- A key's links, newest first (GET /api/links pages through it with a (created_at, code) keyset).
CREATE INDEX links_owner_newest ON links (owner, created_at DESC, code DESC) WHERE owner IS NOT NULL;

-- API keys, on the catalog shard (shard 0) only. Only a SHA-256 of the key is stored; the
-- prefix identifies it in lists and logs.
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  key_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
