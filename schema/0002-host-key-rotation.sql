-- sshx host store, schema version 2: host key rotation.
-- A pinned key being replaced (sshxctl hosts rotate) stays pinned until
-- retire_at, then counts as revoked; hosts rotate --finalize makes that
-- permanent. NULL: not being retired.
ALTER TABLE host_keys ADD COLUMN retire_at INTEGER;
