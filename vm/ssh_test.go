package vm

import (
	"io"
	"net"
	"testing"
)

func TestReadIdentReplays(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		b.Write([]byte("SSH-2.0-srutest\r\n"))
		b.Write([]byte("rest"))
		b.Close()
	}()
	ident, err := readIdent(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(ident) != "SSH-2.0-srutest\r\n" {
		t.Fatalf("ident %q", ident)
	}
	all, err := io.ReadAll(&replayConn{Conn: a, head: ident})
	if err != nil {
		t.Fatal(err)
	}
	if string(all) != "SSH-2.0-srutest\r\nrest" {
		t.Fatalf("replayed %q", all)
	}
}

func TestReadIdentEOFAndOverlong(t *testing.T) {
	a, b := net.Pipe()
	b.Close()
	if _, err := readIdent(a); err == nil {
		t.Fatal("EOF before the identification line: want an error")
	}
	a, b = net.Pipe()
	go func() {
		b.Write(make([]byte, maxIdentLen+1))
		b.Close()
	}()
	if _, err := readIdent(a); err == nil {
		t.Fatal("no line end: want an error")
	}
}
