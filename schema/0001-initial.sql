-- sshx host store, schema version 1.
-- Applied in one transaction by sshx_store_open(); PRAGMA user_version records it.
-- Times are Unix seconds (UTC).

-- Settings and per-database secrets (the salt key of hashed exports).
CREATE TABLE meta (
	name	TEXT PRIMARY KEY NOT NULL,
	value	BLOB NOT NULL
) WITHOUT ROWID;

-- A host is a lowercase name and a port, or a hashed known_hosts name
-- ("|1|salt|hash", which already covers the port) with port 0.
CREATE TABLE hosts (
	id	INTEGER PRIMARY KEY,
	name	TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
	port	INTEGER NOT NULL CHECK ((hashed = 0 AND port BETWEEN 1 AND 65535)
				     OR (hashed = 1 AND port = 0)),
	hashed	INTEGER NOT NULL DEFAULT 0 CHECK (hashed IN (0, 1)),
	added	INTEGER NOT NULL,
	UNIQUE (name, port)
);

-- Keys of a host. A key is pinned (trusted for the host) or revoked (refused
-- for the host even when another source offers it). The table is clustered
-- in export order (host name, port, type rank, age): a known_hosts export or
-- a listing of a million keys is one sequential scan, whatever order the
-- keys were imported in. The host's name and port are repeated here for
-- that; host_id is the same host's hosts.id, for callers that hold it.
CREATE TABLE host_keys (
	name		TEXT NOT NULL,
	port		INTEGER NOT NULL,
	type_rank	INTEGER NOT NULL,	-- export order: ed25519, ecdsa, rsa, dss
	added		INTEGER NOT NULL,
	id		INTEGER NOT NULL UNIQUE,	-- a key's stable handle
	host_id		INTEGER NOT NULL,
	type		TEXT NOT NULL,
	blob		BLOB NOT NULL,
	fingerprint	TEXT NOT NULL,		-- SHA256:... of blob
	state		TEXT NOT NULL CHECK (state IN ('pinned', 'revoked')),
	source		TEXT NOT NULL,		-- "add", "known_hosts:PATH", "keyscan:PATH", ...
	last_verified	INTEGER,		-- NULL: never verified
	PRIMARY KEY (name, port, type_rank, added, id),
	FOREIGN KEY (name, port) REFERENCES hosts (name, port) ON DELETE CASCADE
) WITHOUT ROWID;
-- No index on fingerprint: it would cost a third of every import, and
-- finding a key by fingerprint across all hosts is a rare admin question
-- that a scan answers (about half a second at a million keys).

-- Marker lines whose host field is a pattern: @cert-authority entries, and
-- @revoked entries written for patterns ("*") rather than concrete hosts.
CREATE TABLE patterns (
	id		INTEGER PRIMARY KEY,
	marker		TEXT NOT NULL CHECK (marker IN ('cert-authority', 'revoked')),
	pattern		TEXT NOT NULL CHECK (length(pattern) BETWEEN 1 AND 4096),
	type		TEXT NOT NULL,
	blob		BLOB NOT NULL,
	fingerprint	TEXT NOT NULL,
	source		TEXT NOT NULL,
	added		INTEGER NOT NULL,
	UNIQUE (marker, pattern, blob)
);

-- Every change to trust (and later every agent operation) leaves a row.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY,
	time		INTEGER NOT NULL,
	actor		TEXT NOT NULL,		-- "sshxctl", "agentd"
	uid		INTEGER,
	pid		INTEGER,
	exe		TEXT,
	action		TEXT NOT NULL,		-- "hosts.add", "hosts.import", ...
	host		TEXT,
	fingerprint	TEXT,
	detail		TEXT,
	result		TEXT NOT NULL		-- "ok", "refused", ...
);
CREATE INDEX audit_by_time ON audit (time);
