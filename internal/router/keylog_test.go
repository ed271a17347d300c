package router

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyLogCreatedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	f, err := openKeyLog(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestKeyLogExistingFileMadePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openKeyLog(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestKeyLogRefusesSymlink: a link planted where the key log goes would
// send the keys to its target.
func TestKeyLogRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "keys")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if f, err := openKeyLog(link); err == nil {
		f.Close()
		t.Fatal("a symbolic link was accepted as the key log")
	}
}

func TestKeyLogRefusesDirectory(t *testing.T) {
	if f, err := openKeyLog(t.TempDir()); err == nil {
		f.Close()
		t.Fatal("a directory was accepted as the key log")
	}
}

// TestKeyLogRefusesOtherOwner: a file another user owns (and so controls)
// does not get the keys.
func TestKeyLogRefusesOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("prerequisite missing in CI: root (to chown a file)")
		}
		t.Skip("needs root to give a file to another user")
	}
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	f, err := openKeyLog(path)
	if err == nil {
		f.Close()
		t.Fatal("a file owned by another user was accepted as the key log")
	}
	if !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("error %q does not name the owner", err)
	}
}
