-- Whether a redirect carries the short URL's query string over to the target (on by default, as
-- Shlink does; see src/domain/query-forwarding.ts).
ALTER TABLE links ADD COLUMN forward_query boolean NOT NULL DEFAULT true;
