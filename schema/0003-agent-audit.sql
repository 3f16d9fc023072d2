-- sshx host store, schema version 3: what agentd records about each use.
-- kind: for a signature, what was signed ('userauth', 'sshsig', 'unknown');
-- NULL for other operations. peer_user: the user name of an SSH userauth
-- request. peer_host_key: the fingerprint of the host key the signature is
-- bound to (hostbound userauth, or the connection's session-bind).
-- namespace: the SSHSIG namespace. forwarded: 1 when the connection was
-- bound with the forwarding flag, 0 when not, NULL when not known.
-- Never a secret and never the signed bytes: only parsed, capped fields.
ALTER TABLE audit ADD COLUMN kind TEXT;
ALTER TABLE audit ADD COLUMN peer_user TEXT;
ALTER TABLE audit ADD COLUMN peer_host_key TEXT;
ALTER TABLE audit ADD COLUMN namespace TEXT;
ALTER TABLE audit ADD COLUMN forwarded INTEGER CHECK (forwarded IN (0, 1));
-- sshxctl log --key: agentd writes a row per signature, so the trail of one
-- key is found through an index rather than a scan of every row.
CREATE INDEX audit_by_fingerprint ON audit (fingerprint, time);
