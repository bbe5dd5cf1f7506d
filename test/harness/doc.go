// Package harness is what kiln's root test suites share: the kiln binary,
// base images made from this machine's busybox-static, Go toolchain and
// node, private stores seeded with them, loopback registries, kiln.toml
// files, and a model of an exported OCI image to assert on.
//
// Everything expensive is made once per test binary and shared read-only:
// the kiln binary (Kiln), and each base image (Busybox, Golang, Node, ...),
// kept as a root filesystem, a template store, an OCI layout and an OCI tar.
// A test's own store (NewStore) is a hard-linked clone of the templates it
// asks for, so tests can run in parallel, each on its own store, without
// redoing the imports. Main, called from TestMain, removes it all at the end
// and checks that no test changed a shared base through a hard link.
//
// A typical root suite:
//
//	func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }
//
//	func TestX(t *testing.T) {
//		t.Parallel()
//		s := harness.NewStore(t, harness.Busybox) // skips unless root with runc
//		r := s.MustRun(t, "build", "-o", "type=oci,dest="+tar, ctx)
//		img := harness.ReadImage(t, tar)
//		f := img.Files(t)["/etc/passwd"]
//		...
//	}
//
// Prerequisites are checked, never assumed: every entry point that needs
// root, runc, busybox-static or another tool skips the test, naming the
// Debian package to install. KILN_TEST_KEEP=1 keeps the harness's work
// directory (the binary, the templates) for inspection.
package harness
