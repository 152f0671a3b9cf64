package examples_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Rust implementations, plugins/examples/<name>/rust: cargo crates on
// the SDK plugins/rust/floe-plugin, built like plugins/build-rust.sh with
// Debian's rustc (1.63) for wasm32-unknown-unknown.

func init() { builders["rust"] = buildRust }

const (
	debianRustc = "/usr/bin/rustc"
	debianCargo = "/usr/bin/cargo"
	rustTarget  = "wasm32-unknown-unknown"
)

// rustMissing says what is missing of Debian's Rust toolchain with the
// wasm32 standard library, or "".
func rustMissing() string {
	for _, p := range []string{debianRustc, debianCargo} {
		if _, err := os.Stat(p); err != nil {
			return p + " is missing (make plugins-rust installs it, or apt-get install rustc cargo libstd-rust-dev-wasm32)"
		}
	}
	sysroot, err := exec.Command(debianRustc, "--print", "sysroot").Output()
	if err != nil {
		return debianRustc + " --print sysroot: " + err.Error()
	}
	lib := filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", rustTarget, "lib")
	if libs, _ := filepath.Glob(filepath.Join(lib, "libstd-*.rlib")); len(libs) == 0 {
		return "the " + rustTarget + " standard library is missing from " + lib + " (apt-get install libstd-rust-dev-wasm32)"
	}
	return ""
}

// buildRust builds exampleDir/rust in release mode for wasm32 to out. It
// skips (returns false) when the toolchain is missing, unless
// FLOE_PLUGINS_REQUIRE=1 makes that a failure.
func buildRust(t testing.TB, exampleDir, out string) bool {
	t.Helper()
	if why := rustMissing(); why != "" {
		if os.Getenv("FLOE_PLUGINS_REQUIRE") == "1" {
			t.Fatalf("FLOE_PLUGINS_REQUIRE=1 but %s", why)
		}
		t.Logf("skipping Rust: %s", why)
		return false
	}
	// One target directory next to out for every example: the SDK compiles
	// once, and the directory goes away with out's.
	targetDir := filepath.Join(filepath.Dir(out), "cargo-target")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianCargo, "build", "--offline", "--locked", "--release", "--target", rustTarget)
	cmd.Dir = filepath.Join(exampleDir, "rust")
	// cargo runs $RUSTC: Debian's, not a rustup one earlier on PATH.
	cmd.Env = append(os.Environ(), "RUSTC="+debianRustc, "RUSTDOC=/usr/bin/rustdoc", "CARGO_TARGET_DIR="+targetDir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", cmd.Dir, err, b)
	}
	// Each crate's lib is named after its example.
	wasm, err := os.ReadFile(filepath.Join(targetDir, rustTarget, "release", filepath.Base(exampleDir)+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return true
}
