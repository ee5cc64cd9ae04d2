-- Photos (API-v2 "Photos"). A message's photos are stored with it as JSON (what every reader
-- shows); `attachments` keeps each upload's record and lifecycle: recorded before its bytes are
-- written ('uploading'), 'ready' to send, 'claimed' by a send being committed, 'sent', or
-- 'doomed' when its room was deleted. The janitor deletes the bytes of doomed uploads and of
-- uploads never sent after 24 h, then the record. Times are milliseconds since the Unix epoch.
ALTER TABLE messages ADD COLUMN attachments TEXT NULL;
CREATE TABLE attachments (
    id              TEXT    NOT NULL PRIMARY KEY,
    room_uuid       TEXT    NOT NULL,
    uploader        TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            BIGINT  NOT NULL,
    width           BIGINT  NOT NULL,
    height          BIGINT  NOT NULL,
    thumbnail_type  TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    claim_key       TEXT    NULL,
    claimed_at      BIGINT  NULL
);
CREATE INDEX attachments_room ON attachments (room_uuid);
CREATE INDEX attachments_uploader ON attachments (uploader, state);
CREATE INDEX attachments_state ON attachments (state, created_at);
CREATE INDEX attachments_claim ON attachments (claim_key);
