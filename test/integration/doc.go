// Package integration builds real Dockerfiles with the kiln binary, as root,
// with runc and overlayfs, and asserts on the resulting images: their files,
// owners, modes and configs. Base images are made from the host's
// busybox-static and Go toolchain, so no test needs the network.
//
// Run with `go test ./test/integration/` as root; without root, runc,
// busybox-static, umoci or skopeo every test is skipped.
package integration
