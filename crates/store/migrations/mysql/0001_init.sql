-- reuse-chat schema, MySQL 8 / MariaDB 10.11 dialect. Times are milliseconds since the Unix
-- epoch (UTC). Text is utf8mb4 with a binary collation: user ids are case-sensitive, as on the
-- other backends.
CREATE TABLE rooms (
    uuid             CHAR(36)     NOT NULL PRIMARY KEY,
    pair_key         CHAR(64)     NOT NULL,
    name             VARCHAR(255) NOT NULL,
    product_id       VARCHAR(255) NULL,
    buyer            VARCHAR(128) NOT NULL,
    seller           VARCHAR(128) NOT NULL,
    buyer_active     BIGINT       NOT NULL,
    seller_active    BIGINT       NOT NULL,
    created_at       BIGINT       NOT NULL,
    last_activity_at BIGINT       NOT NULL,
    last_message_id  BIGINT       NULL,
    UNIQUE KEY rooms_pair_key (pair_key),
    KEY rooms_buyer (buyer, last_activity_at),
    KEY rooms_seller (seller, last_activity_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE messages (
    id                BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    room_uuid         CHAR(36)     NOT NULL,
    sender            VARCHAR(128) NOT NULL,
    content           MEDIUMTEXT   NOT NULL,
    kind              VARCHAR(16)  NOT NULL,
    created_at        BIGINT       NOT NULL,
    client_message_id VARCHAR(64)  NULL,
    KEY messages_room (room_uuid, id),
    UNIQUE KEY messages_idempotency (room_uuid, sender, client_message_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE inquiries (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email           VARCHAR(320) NOT NULL,
    title           VARCHAR(800) NOT NULL,
    content         MEDIUMTEXT   NOT NULL,
    user_id         VARCHAR(128) NULL,
    created_at      BIGINT       NOT NULL,
    attempts        BIGINT       NOT NULL DEFAULT 0,
    next_attempt_at BIGINT       NOT NULL,
    claimed_by      VARCHAR(64)  NULL,
    claimed_until   BIGINT       NULL,
    sent_at         BIGINT       NULL,
    last_error      VARCHAR(1000) NULL,
    KEY inquiries_pending (sent_at, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
