-- The listing and notifications (API-v2 "The listing", "Notifications").
-- rooms: the listing's trade status as the marketplace last set it (copied into every room of
-- the product, and into rooms opened later from `products`), the members' appointment and the
-- time its reminder is due (NULL once sent or when none is due), and each member's mute
-- (`9223372036854775807`: without an end). messages.notice_data: a SYSTEM notice's details
-- (JSON: `productStatus`, `appointment`). push_subscriptions: browsers' Web Push
-- subscriptions, unique by endpoint (its SHA-256, hex). notifications: the outbox of offline
-- notifications, one row per burst of messages to one member in one room, claimed under a lease
-- like inquiries; `done_targets` lists the targets already delivered, so a retry skips them.
-- Times are milliseconds since the Unix epoch.
ALTER TABLE rooms ADD COLUMN product_status VARCHAR(16) NULL;
ALTER TABLE rooms ADD COLUMN appointment_at BIGINT NULL;
ALTER TABLE rooms ADD COLUMN appointment_place VARCHAR(100) NULL;
ALTER TABLE rooms ADD COLUMN appointment_by VARCHAR(128) NULL;
ALTER TABLE rooms ADD COLUMN reminder_due BIGINT NULL;
ALTER TABLE rooms ADD COLUMN buyer_muted_until BIGINT NULL;
ALTER TABLE rooms ADD COLUMN seller_muted_until BIGINT NULL;
CREATE INDEX rooms_product ON rooms (product_id);
CREATE INDEX rooms_reminder_due ON rooms (reminder_due);
ALTER TABLE messages ADD COLUMN notice_data MEDIUMTEXT NULL;
CREATE TABLE products (
    product_id  VARCHAR(255) NOT NULL PRIMARY KEY,
    status      VARCHAR(16) NOT NULL,
    buyer       VARCHAR(128) NULL,
    updated_at  BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE push_subscriptions (
    id             BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id        VARCHAR(128) NOT NULL,
    endpoint       MEDIUMTEXT NOT NULL,
    endpoint_hash  CHAR(64) NOT NULL UNIQUE,
    p256dh         VARCHAR(128) NOT NULL,
    auth           VARCHAR(64) NOT NULL,
    created_at     BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
CREATE TABLE notifications (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id          VARCHAR(128) NOT NULL,
    room_uuid        CHAR(36) NOT NULL,
    title            VARCHAR(400) NOT NULL,
    body             VARCHAR(400) NOT NULL,
    message_id       BIGINT NOT NULL,
    message_count    BIGINT NOT NULL,
    last_message_at  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    claimed_by       VARCHAR(64) NULL,
    claimed_until    BIGINT NULL,
    sent_at          BIGINT NULL,
    last_error       VARCHAR(1000) NULL,
    done_targets     MEDIUMTEXT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX notifications_burst ON notifications (user_id, room_uuid, id);
CREATE INDEX notifications_pending ON notifications (sent_at, next_attempt_at);
