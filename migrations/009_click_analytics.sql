-- Click analytics, on the link's shard, beside link_clicks and keyed like it by the shard a row
-- was flushed to (`home`) and the ring version (`epoch`), so rows a re-sharding copies never
-- collide with rows flushed anywhere else.

-- Of a row's clicks, those enriched as humans and as bots; the rest (clicks - humans - bots) are
-- unclassified: counted before analytics existed, or whose details were dropped under overload.
ALTER TABLE link_clicks ADD COLUMN humans bigint NOT NULL DEFAULT 0, ADD COLUMN bots bigint NOT NULL DEFAULT 0;

-- Breakdowns: clicks and humans per dimension value (country, referrer, device, browser, os,
-- language; human/bot is link_clicks' own humans and bots). Every instance adds into the same
-- row (additions commute, and the batch id keeps a retry from adding twice); home and epoch keep
-- a re-sharding's copy apart from the rows new flushes grow.
CREATE TABLE link_click_dims (
  code text NOT NULL,
  hour timestamptz NOT NULL,
  home int NOT NULL,
  epoch bigint NOT NULL,
  dimension text NOT NULL,
  value text NOT NULL,
  clicks bigint NOT NULL,
  humans bigint NOT NULL,
  PRIMARY KEY (code, hour, home, epoch, dimension, value)
);

-- Unique human visitors per link and hour: a HyperLogLog (the hll extension) of visitor ids that
-- are hashes of address + user agent + a salt of the day that is never stored past its day. A
-- union is idempotent, so one row takes every instance's and every retry's adds; keyed by home
-- and epoch too, so a re-sharding's copy never merges into a row that new flushes grow.
CREATE EXTENSION IF NOT EXISTS hll;
CREATE TABLE link_visitors (
  code text NOT NULL,
  hour timestamptz NOT NULL,
  home int NOT NULL,
  epoch bigint NOT NULL,
  visitors hll NOT NULL,
  PRIMARY KEY (code, hour, home, epoch)
);
