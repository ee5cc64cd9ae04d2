# reuse-chat: one static-ish binary on a slim Debian. Build: docker build -t reuse-chat .
FROM rust:1.95-bookworm AS build
WORKDIR /src
# librdkafka (bundled by the rdkafka crate) builds with make, gcc and zlib.
RUN apt-get update && apt-get install -y --no-install-recommends cmake zlib1g-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p reuse-chat && cp target/release/reuse-chat /reuse-chat

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates zlib1g && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/reuse-chat --create-home reuse-chat
COPY --from=build /reuse-chat /usr/local/bin/reuse-chat
USER reuse-chat
WORKDIR /var/lib/reuse-chat
ENV REUSE_CHAT_LISTEN=0.0.0.0:8070 REUSE_CHAT_DATA_DIR=/var/lib/reuse-chat
EXPOSE 8070
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8070"]
ENTRYPOINT ["reuse-chat"]
CMD ["serve"]
