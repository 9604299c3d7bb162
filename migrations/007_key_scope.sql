-- A key's scope: 'admin' keys may watch everything (all-events topics, metrics, dashboard);
-- ordinary ('user') keys manage and watch only their own links. Existing keys stay ordinary.
ALTER TABLE api_keys
  ADD COLUMN scope text NOT NULL DEFAULT 'user' CHECK (scope IN ('user', 'admin'));
