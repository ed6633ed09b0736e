package images

import (
	"context"
	"path/filepath"
)

// bzImageSource: one kernel file with everything built in.
func bzImageSource(p string) (*kernelSource, error) {
	rel, err := bzImageReleaseFile(p)
	if err != nil {
		return nil, err
	}
	if err := validRelease(rel); err != nil {
		return nil, &FileError{p, "read kernel header", err}
	}
	sum, err := sha256File(p)
	if err != nil {
		return nil, &FileError{p, "read kernel", err}
	}
	return &kernelSource{
		key:  keyOf("bzimage", sum),
		desc: "bzimage:" + p,
		meta: map[string]string{"kernel_sha256": sum},
		build: func(ctx context.Context, out string) (*kernelJSON, error) {
			if err := copyFile(p, filepath.Join(out, fileKernel), 0o644); err != nil {
				return nil, err
			}
			// Everything is built in by definition of the kind: no
			// modules, nothing missing.
			return &kernelJSON{Release: rel, Modules: []string{}, ModulePaths: []string{}, Meta: map[string]string{"modules": "built in"}}, nil
		},
	}, nil
}

// bzImageKind is bzimage:<path>: one kernel with everything built in.
type bzImageKind struct{}

func (bzImageKind) kernelSource(ctx context.Context, b *Builder, sp Spec, tm *timer) (*kernelSource, error) {
	tm.start("resolve")
	return bzImageSource(sp.Args[0])
}
