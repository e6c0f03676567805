# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/policykit ./cmd/policykit

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/policykit /usr/local/bin/policykit
ENV POLICYKIT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/policykit"]
CMD ["serve"]
