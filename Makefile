# bprl: the two commands a fresh machine needs.
#   make test   installs missing system packages, then fmt + clippy + the whole test suite
#   make demo   runs the main job and writes its report
.PHONY: all deps test fmt clippy unit demo doc bench

CARGO ?= cargo

all: test

deps:
	@bash scripts/install-deps.sh

fmt:
	$(CARGO) fmt --all --check

clippy: deps
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

unit: deps
	$(CARGO) test --workspace --all-features

test: deps fmt clippy unit doc

doc: deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --exclude bprl-examples --all-features --no-deps

demo: deps
	$(CARGO) run --release -p bprl-examples --bin bprl -- demo --out runs/demo

bench: deps
	$(CARGO) bench --workspace --all-features
