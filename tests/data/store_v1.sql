-- A qtw SQLite store at schema v1 (commit 9fc9226, before the stranded state):
-- `qtw init --banks 2` with two HODL keys, then five Explorers of Bank 0 in
-- states used, retired, available, draining, dropped. Secrets blanked (the
-- sealed seed is one zero byte, the HODL keys are watch-only).
-- Produced with `sqlite3 v1.db .dump`; the two PRAGMAs at the end are what
-- .dump leaves out. Loaded by tests/unit/store/sqlite_store_test.cpp.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE wallet (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed_seed BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL
);
INSERT INTO wallet VALUES(1,X'00',1795987426076);
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO counters VALUES('next_lease_id',1);
CREATE TABLE keys (
  id INTEGER PRIMARY KEY,
  tier INTEGER NOT NULL CHECK (tier IN (0, 1, 2)),
  pubkey BLOB NOT NULL UNIQUE CHECK (length(pubkey) = 32),
  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 7),
  bank_index INTEGER CHECK (bank_index BETWEEN 0 AND 2147483647),
  explorer_index INTEGER CHECK (explorer_index BETWEEN 0 AND 2147483647),
  funding_bank_id INTEGER REFERENCES keys(id),
  sealed_secret BLOB,
  label TEXT NOT NULL DEFAULT '',
  next_child_index INTEGER NOT NULL DEFAULT 0,
  lease_host TEXT,
  lease_pid INTEGER,
  lease_instance TEXT,
  lease_id INTEGER,
  lease_deadline_ms INTEGER,
  sign_count INTEGER NOT NULL DEFAULT 0,
  signed_at_ms INTEGER,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  CHECK ((tier = 2) = (explorer_index IS NOT NULL AND funding_bank_id IS NOT NULL)),
  CHECK (tier = 0 OR sealed_secret IS NULL),
  CHECK ((state = 2) = (lease_id IS NOT NULL))
);
INSERT INTO keys VALUES(1,0,X'318f6eec1602b868854a8f62c2957e3136f5a5f3cf421dd4a0ec8336b3384ce0',7,NULL,NULL,NULL,NULL,'hodl.json',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1795987426077,1795987426077);
INSERT INTO keys VALUES(2,0,X'0000000000000000000000000000000000000000000000000000000000000001',7,NULL,NULL,NULL,NULL,'watch-only',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1795987426077,1795987426077);
INSERT INTO keys VALUES(3,1,X'016ba1030fe631173cf8500f500a38401c511d3b5c491e9d864660be240076db',7,0,NULL,NULL,NULL,'',5,NULL,NULL,NULL,NULL,NULL,0,NULL,1795987426078,1795987426078);
INSERT INTO keys VALUES(4,1,X'd9ec34fe67005b30890f5a6891b8173185dd66e96795fa11108a6264487e8fcd',7,1,NULL,NULL,NULL,'',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1795987426078,1795987426078);
INSERT INTO keys VALUES(5,2,X'365f1c7545de580ec760923627af8d689638864e3e4c6b93f4a91b253cecc307',3,0,0,3,NULL,'',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1700000000000,1700000000000);
INSERT INTO keys VALUES(6,2,X'd7e89bbf4ffefdf7b0182f42ee070ddc827032c07022583c22f394c55b4b635f',5,0,1,3,NULL,'',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1700000000000,1700000000000);
INSERT INTO keys VALUES(7,2,X'69b718d56776293d9c52efc6661967535e5bd523128ec756b181f202ba93bb5a',1,0,2,3,NULL,'',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1700000000000,1700000000000);
INSERT INTO keys VALUES(8,2,X'8796736424807eabd3fb9151e5cfd01f1428fbddc813264d656173e1bd6d67ef',4,0,3,3,NULL,'',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1700000000000,1700000000000);
INSERT INTO keys VALUES(9,2,X'040d44687e9519696b3bcb2c30850200fbffccaeefa288fc56c08f9b65d13f48',6,0,4,3,NULL,'',0,NULL,NULL,NULL,NULL,NULL,0,NULL,1700000000000,1700000000000);
CREATE TABLE intents (
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  status INTEGER NOT NULL,
  fee_payer BLOB NOT NULL CHECK (length(fee_payer) = 32),
  signature BLOB NOT NULL UNIQUE CHECK (length(signature) = 64),
  blockhash BLOB NOT NULL CHECK (length(blockhash) = 32),
  last_valid_block_height INTEGER NOT NULL,
  wire BLOB NOT NULL,
  slot INTEGER,
  fee_lamports INTEGER,
  error TEXT NOT NULL DEFAULT '',
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE TABLE intent_transfers (
  intent_id INTEGER NOT NULL REFERENCES intents(id),
  seq INTEGER NOT NULL,
  from_pubkey BLOB NOT NULL CHECK (length(from_pubkey) = 32),
  to_pubkey BLOB NOT NULL CHECK (length(to_pubkey) = 32),
  lamports INTEGER NOT NULL CHECK (lamports >= 0),
  PRIMARY KEY (intent_id, seq)
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  pubkey BLOB,
  intent_id INTEGER,
  detail TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit VALUES(1,1795987426076,'vm:15670','wallet.create',NULL,NULL,'');
INSERT INTO audit VALUES(2,1795987426077,'vm:15670','hodl.add',X'318f6eec1602b868854a8f62c2957e3136f5a5f3cf421dd4a0ec8336b3384ce0',NULL,'sealed secret');
INSERT INTO audit VALUES(3,1795987426077,'vm:15670','hodl.add',X'0000000000000000000000000000000000000000000000000000000000000001',NULL,'watch-only');
INSERT INTO audit VALUES(4,1795987426078,'vm:15670','bank.add',X'016ba1030fe631173cf8500f500a38401c511d3b5c491e9d864660be240076db',NULL,'index 0');
INSERT INTO audit VALUES(5,1795987426078,'vm:15670','bank.add',X'd9ec34fe67005b30890f5a6891b8173185dd66e96795fa11108a6264487e8fcd',NULL,'index 1');
INSERT INTO audit VALUES(6,1795987426078,'cli','wallet.init',NULL,NULL,'banks=2');
CREATE TABLE leader (
  name TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  instance TEXT NOT NULL,
  deadline_ms INTEGER NOT NULL
);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('audit',6);
CREATE UNIQUE INDEX keys_bank_index ON keys (bank_index) WHERE tier = 1;
CREATE UNIQUE INDEX keys_explorer_index ON keys (bank_index, explorer_index) WHERE tier = 2;
CREATE UNIQUE INDEX keys_lease_id ON keys (lease_id) WHERE lease_id IS NOT NULL;
CREATE INDEX keys_tier_state ON keys (tier, state, id);
CREATE INDEX keys_funding_bank ON keys (funding_bank_id);
CREATE INDEX keys_lease_deadline ON keys (lease_deadline_ms) WHERE state = 2;
CREATE INDEX intents_status ON intents (status, id);
CREATE INDEX intent_transfers_from ON intent_transfers (from_pubkey);
CREATE INDEX intent_transfers_to ON intent_transfers (to_pubkey);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
COMMIT;
PRAGMA user_version = 1;
PRAGMA application_id = 1364481841;
