-- A link's redirect rules (src/domain/redirect-rules.ts): an ordered JSON list of {when, url},
-- null when it has none. Read with the link on every cache fill; never queried by content.
ALTER TABLE links ADD COLUMN rules jsonb;
