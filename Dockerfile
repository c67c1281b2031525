# syntax=docker/dockerfile:1
#
# Builds sessionbot from source: docker build -t sessionbot .
# Version stamping: --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD)
#                   --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Release images are instead built from the already-built binary by
# GoReleaser (deploy/docker/Dockerfile.release), and without a registry by
# deploy/image/build.sh (buildah).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
ENV CGO_ENABLED=0
RUN go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/sessionbot ./cmd/sessionbot \
 && mkdir -p /out/state

# distroless static: CA certificates, /etc/passwd with nonroot (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
ARG LICENSE=NOASSERTION
LABEL org.opencontainers.image.title="sessionbot" \
      org.opencontainers.image.description="List and end login sessions on Qlik Sense, Commvault and Microsoft Teams from Slack" \
      org.opencontainers.image.source="https://github.com/sessionbot/sessionbot" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}" \
      org.opencontainers.image.licenses="${LICENSE}"
COPY --from=build /out/sessionbot /usr/local/bin/sessionbot
# The SQLite store's home, writable by the bot alone; mount a volume here.
COPY --from=build --chown=65532:65532 /out/state /var/lib/sessionbot
USER 65532:65532
WORKDIR /var/lib/sessionbot
EXPOSE 9090
ENTRYPOINT ["sessionbot"]
CMD ["serve"]
