// Package integration builds real Dockerfiles with the kiln binary, as root,
// with runc and overlayfs, and asserts on the resulting images: their files,
// owners, modes and configs. Base images are made from the host's
// busybox-static and Go toolchain, so no test needs the network.
//
// The tests run in parallel, each on its own store (see requireSuite) and
// its own loopback registries; when a test ends, its store must verify and
// hold no mounts, containers or temp files of its builds.
//
// Run with `go test ./test/integration/` as root; without root, runc,
// busybox-static, umoci or skopeo every test is skipped. The long suites
// run only behind flags, which .ci/run sets: KILN_TEST_S3=1 (the s3 cache
// against SeaweedFS, $KILN_TEST_WEED) and KILN_TEST_BUILDAH=1 (the buildah
// differential).
package integration
