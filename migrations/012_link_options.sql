-- Whether a redirect carries the short URL's query string over to the target (on by default, as
-- Shlink does; see src/domain/query-forwarding.ts), and a link's password, as an argon2id hash
-- (Bun.password) only: a protected link answers with a password form before it redirects.
ALTER TABLE links ADD COLUMN forward_query boolean NOT NULL DEFAULT true, ADD COLUMN password_hash text;
-- An admin may disable a link (abuse): it then answers 410 saying so, and its owner sees why.
ALTER TABLE links ADD COLUMN disabled_reason text, ADD COLUMN disabled_at timestamptz;
