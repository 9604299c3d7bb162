-- What link owners organise and find their links by: an optional title and up to 10 tags
-- (lowercase, [a-z0-9-]). GET /api/links?q= matches a case-insensitive substring of the code
-- (an alias is its code), the title and the long URL; ?tag= filters by one tag. Both are served
-- by GIN indexes that start with the owner (btree_gin), so a key's search reads its own entries
-- only: trigrams (pg_trgm) for the substring, the array itself for tags.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER TABLE links ADD COLUMN title text, ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX links_owner_search ON links USING gin (owner, lower(code || ' ' || coalesce(title, '') || ' ' || long_url) gin_trgm_ops) WHERE owner IS NOT NULL;
CREATE INDEX links_owner_tags ON links USING gin (owner, tags) WHERE owner IS NOT NULL;
