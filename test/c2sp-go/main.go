// c2sp-verify: an independent verifier of a log published the C2SP way, written against
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog (Go's own checksum-database code, from
// which tlog-tiles and signed-note derive), not against this project's TypeScript.
//
//	c2sp-verify (--url URL | --tiles-dir DIR) --log-key VKEY [--witness-key VKEY ...] [--previous FILE]
//
// It opens the checkpoint with note.Open (the log's Ed25519 note key), parses the tlog-checkpoint
// body, reads hash tiles through tlog.TileHashReader (tiles mapped to tlog-tiles paths
// tile/<L>/<N>[.p/<W>]), checks tlog.TreeHash against the checkpoint root, proves and checks the
// inclusion of every entry of the entry bundles (leaf hashes computed here, RFC 6962), proves the
// previous checkpoint (if given) consistent with this one, and verifies tlog-cosignature/v1 lines
// (x/mod 0.7's note package knows only Ed25519 note signatures, type 0x01: the type 0x04 check is
// written here from the c2sp.org/tlog-cosignature text with crypto/ed25519). It prints one JSON
// object and exits 0, or prints the first mismatch on stderr and exits 1.
//
// Built with GO111MODULE=off GOPATH=/usr/share/gocode (Debian's golang-golang-x-mod-dev): no network.
package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const tileHeight = 8 // tlog-tiles: 256 hashes per tile

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "c2sp-verify: "+format+"\n", a...)
	os.Exit(1)
}

// source reads tlog-tiles resources below a URL prefix or from a directory.
type source struct {
	url, dir string
	client   *http.Client
	cache    map[string][]byte
	fetches  int
}

func (s *source) get(path, wantType string) ([]byte, error) {
	if b, ok := s.cache[path]; ok {
		return b, nil
	}
	s.fetches++
	var b []byte
	if s.dir != "" {
		var err error
		if b, err = os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(path))); err != nil {
			return nil, err
		}
	} else {
		res, err := s.client.Get(strings.TrimSuffix(s.url, "/") + "/" + path)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: HTTP %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != wantType {
			return nil, fmt.Errorf("GET %s: Content-Type %q, tlog-tiles says %q", path, ct, wantType)
		}
		// the largest resource is a full entry bundle: 256 entries of at most 65,535 bytes, each behind 2 length bytes
		const max = 256 * (2 + 65535)
		if b, err = io.ReadAll(io.LimitReader(res.Body, max+1)); err != nil {
			return nil, err
		}
		if len(b) > max {
			return nil, fmt.Errorf("GET %s: more than %d bytes", path, max)
		}
	}
	if path != "checkpoint" {
		s.cache[path] = b
	}
	return b, nil
}

// tileIndex writes N as c2sp.org/tlog-tiles says: zero-padded 3-digit path elements, all but the
// last prefixed with "x" (1234067 -> x001/x234/067).
func tileIndex(n int64) string {
	parts := []string{fmt.Sprintf("%03d", n%1000)}
	for n /= 1000; n > 0; n /= 1000 {
		parts = append([]string{fmt.Sprintf("x%03d", n%1000)}, parts...)
	}
	return strings.Join(parts, "/")
}

// tilePath maps an x/mod tile (tile/H/L/N in Go's checksum database) to tile/<L>/<N>[.p/<W>]
// (tile/entries/... for level -1, which x/mod calls data tiles).
func tilePath(t tlog.Tile) string {
	if t.H != tileHeight {
		fail("tile of height %d requested; tlog-tiles tiles have height 8", t.H)
	}
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	p := "tile/" + level + "/" + tileIndex(t.N)
	if t.W != 1<<tileHeight {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

type tileReader struct{ src *source }

func (r tileReader) Height() int { return tileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.src.get(tilePath(t), "application/octet-stream")
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

type checkpoint struct {
	origin string
	tree   tlog.Tree
	note   *note.Note
}

var sizeRe = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// openCheckpoint verifies the note with x/mod's note.Open and parses c2sp.org/tlog-checkpoint.
func openCheckpoint(msg []byte, logKey note.Verifier) checkpoint {
	n, err := note.Open(msg, note.VerifierList(logKey))
	if err != nil {
		fail("note.Open: %v", err)
	}
	if !strings.HasSuffix(n.Text, "\n") {
		fail("checkpoint text does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines, tlog-checkpoint needs origin, size and root hash", len(lines))
	}
	if lines[0] != logKey.Name() {
		fail("checkpoint origin %q is not the log key's name %q", lines[0], logKey.Name())
	}
	if !sizeRe.MatchString(lines[1]) {
		fail("checkpoint size %q is not decimal without leading zeroes", lines[1])
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		fail("checkpoint root hash %q is not base64 of 32 bytes", lines[2])
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			fail("empty checkpoint extension line")
		}
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: h}, note: n}
}

type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

// parseCosignerKey reads a vkey of type 0x04 (c2sp.org/tlog-cosignature) and checks its key ID:
// SHA-256(name || "\n" || 0x04 || key)[:4].
func parseCosignerKey(vkey string) cosigner {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		fail("witness key %q is not name+id+key", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		fail("witness key %q is not base64(0x04 || 32-byte Ed25519 key)", vkey)
	}
	id, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || len(parts[1]) != 8 {
		fail("witness key ID %q is not 8 hex digits", parts[1])
	}
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if binary.BigEndian.Uint32(sum[:4]) != uint32(id) {
		fail("witness key ID %s does not match its key", parts[1])
	}
	return cosigner{name: parts[0], hash: uint32(id), key: ed25519.PublicKey(raw[1:])}
}

// verifyCosignatures checks every signature line by a configured witness: timestamped_signature
// (u64 big-endian POSIX time || 64-byte Ed25519) over "cosignature/v1\ntime <T>\n" || note text.
func verifyCosignatures(n *note.Note, witnesses []cosigner) []map[string]interface{} {
	var out []map[string]interface{}
	for _, w := range witnesses {
		found := false
		for _, s := range n.UnverifiedSigs {
			if s.Name != w.name || s.Hash != w.hash {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(s.Base64)
			if err != nil || len(raw) != 4+8+64 {
				fail("cosignature by %s is %d bytes, want key ID, timestamp and Ed25519 signature (76)", w.name, len(raw))
			}
			ts := binary.BigEndian.Uint64(raw[4:12])
			if ts > 1<<63-1 {
				fail("cosignature timestamp by %s exceeds 2^63-1", w.name)
			}
			msg := "cosignature/v1\ntime " + strconv.FormatUint(ts, 10) + "\n" + n.Text
			if !ed25519.Verify(w.key, []byte(msg), raw[12:]) {
				fail("cosignature by %s does not verify", w.name)
			}
			found = true
			out = append(out, map[string]interface{}{"name": w.name, "timestamp": ts})
		}
		if !found {
			fail("no cosignature by witness %s on the checkpoint", w.name)
		}
	}
	return out
}

// entries reads every entry bundle of the tree (uint16 big-endian length-prefixed entries).
func entries(src *source, size int64) [][]byte {
	var all [][]byte
	for n := int64(0); n*256 < size; n++ {
		w := size - n*256
		if w > 256 {
			w = 256
		}
		b, err := src.get(tilePath(tlog.Tile{H: tileHeight, L: -1, N: n, W: int(w)}), "application/octet-stream")
		if err != nil {
			fail("entry bundle %d: %v", n, err)
		}
		var got int64
		for len(b) > 0 {
			if len(b) < 2 {
				fail("entry bundle %d ends inside a length prefix", n)
			}
			l := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+l {
				fail("entry bundle %d ends inside an entry", n)
			}
			all = append(all, b[2:2+l])
			b = b[2+l:]
			got++
		}
		if got != w {
			fail("entry bundle %d holds %d entries, the tree needs %d", n, got, w)
		}
	}
	return all
}

func main() {
	var url, dir, logVkey, previous string
	var witnessKeys multi
	flag.StringVar(&url, "url", "", "the log's tlog-tiles URL prefix")
	flag.StringVar(&dir, "tiles-dir", "", "a directory holding the log's tiles")
	flag.StringVar(&logVkey, "log-key", "", "the log's note verifier key (name+id+base64(0x01 || key))")
	flag.Var(&witnessKeys, "witness-key", "a witness cosigner key (type 0x04) whose cosignature must be on the checkpoint; repeatable")
	flag.StringVar(&previous, "previous", "", "an earlier checkpoint of the same log, to prove consistent with the current one")
	flag.Parse()
	if (url == "") == (dir == "") || logVkey == "" {
		fail("usage: c2sp-verify (--url URL | --tiles-dir DIR) --log-key VKEY [--witness-key VKEY ...] [--previous FILE]")
	}
	logKey, err := note.NewVerifier(logVkey)
	if err != nil {
		fail("note.NewVerifier(%q): %v", logVkey, err)
	}
	src := &source{url: url, dir: dir, client: &http.Client{Timeout: 30 * time.Second}, cache: map[string][]byte{}}
	msg, err := src.get("checkpoint", "text/plain; charset=utf-8")
	if err != nil {
		fail("checkpoint: %v", err)
	}
	cp := openCheckpoint(msg, logKey)
	var ws []cosigner
	for _, k := range witnessKeys {
		ws = append(ws, parseCosignerKey(k))
	}
	cosigned := verifyCosignatures(cp.note, ws)

	hr := tlog.TileHashReader(cp.tree, tileReader{src})
	th, err := tlog.TreeHash(cp.tree.N, hr)
	if err != nil {
		fail("tlog.TreeHash(%d): %v", cp.tree.N, err)
	}
	if th != cp.tree.Hash {
		fail("root computed from the tiles %s differs from the checkpoint's %s", th, cp.tree.Hash)
	}
	all := entries(src, cp.tree.N)
	for i, e := range all {
		leaf := tlog.RecordHash(e) // RFC 6962: SHA-256(0x00 || entry)
		p, err := tlog.ProveRecord(cp.tree.N, int64(i), hr)
		if err != nil {
			fail("tlog.ProveRecord(%d, %d): %v", cp.tree.N, i, err)
		}
		if err := tlog.CheckRecord(p, cp.tree.N, cp.tree.Hash, int64(i), leaf); err != nil {
			fail("entry %d is not included in the checkpoint's tree: %v", i, err)
		}
	}
	result := map[string]interface{}{
		"origin": cp.origin, "size": cp.tree.N, "root": base64.StdEncoding.EncodeToString(cp.tree.Hash[:]),
		"entriesProven": len(all), "cosignatures": cosigned, "tileFetches": src.fetches,
	}
	if len(all) > 0 {
		sum := sha256.Sum256(all[len(all)-1])
		result["lastEntrySha256"] = fmt.Sprintf("%x", sum)
	}
	if previous != "" {
		old, err := os.ReadFile(previous)
		if err != nil {
			fail("--previous: %v", err)
		}
		oc := openCheckpoint(old, logKey)
		if oc.tree.N > cp.tree.N {
			fail("previous checkpoint (size %d) is larger than the current one (%d)", oc.tree.N, cp.tree.N)
		}
		p, err := tlog.ProveTree(cp.tree.N, oc.tree.N, hr)
		if err != nil {
			fail("tlog.ProveTree(%d, %d): %v", cp.tree.N, oc.tree.N, err)
		}
		if err := tlog.CheckTree(p, cp.tree.N, cp.tree.Hash, oc.tree.N, oc.tree.Hash); err != nil {
			fail("the checkpoint at size %d is not consistent with the one at %d: %v", oc.tree.N, cp.tree.N, err)
		}
		result["consistentFrom"] = oc.tree.N
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(result); err != nil {
		fail("%v", err)
	}
}
