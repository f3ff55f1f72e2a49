# Warden build and test entry points. `make test` is what CI runs: it
# installs the test peers, then checks formatting, vet, staticcheck and
# runs every test with the race detector.
GO ?= go
STATICCHECK ?= $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build deps test check unit fuzz-smoke bench clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o warden ./cmd/warden

deps:
	./scripts/install-deps.sh

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

test: deps check unit

# A few seconds of coverage-guided fuzzing per decoder, beyond the seed
# corpus that `make test` already replays.
fuzz-smoke:
	./scripts/fuzz-smoke.sh 10s

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -f warden
