# clickrelay, for docker-compose.yml: a static binary in a distroless image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -tags release -trimpath -ldflags="-s -w" -o /out/clickrelay ./cmd/clickrelay

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/clickrelay /usr/local/bin/clickrelay
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/clickrelay"]
CMD ["all"]
