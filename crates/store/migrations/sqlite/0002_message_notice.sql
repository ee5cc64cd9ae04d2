-- The machine-readable reason of a SYSTEM message (API-v2 "Message kinds"), stored with it so
-- that no reader infers a leave from the message kind. Until now the only SYSTEM message was a
-- member's leave.
ALTER TABLE messages ADD COLUMN notice TEXT NULL;
UPDATE messages SET notice = 'MEMBER_LEFT' WHERE kind = 'SYSTEM';
