package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The schema check of deploy/k8s. No Kubernetes schema validator runs
// offline here (kubeconform fetches its JSON schemas from the network,
// `kubectl --dry-run=client` asks an API server for discovery, Debian's
// kubernetes-client is 1.20). k8s.io/api holds the Go types the API server
// itself decodes into, generated from the same definitions as the OpenAPI
// schema kubeconform checks against; decoding each document strictly into
// them (sigs.k8s.io/yaml.UnmarshalStrict: unknown or misspelt fields,
// duplicate keys and wrongly typed values are errors, quantities must
// parse) is the same structural check. Admission and server-side
// validation (immutable fields, quotas) are not checked — by kubeconform
// neither. On top, the rules srutest relies on are asserted: an Indexed
// Job whose SRUTEST_SHARDS equals its completions, `--shard auto`, volumes
// that exist, claims that a manifest defines.

// doc is one YAML document of a manifest file.
type doc struct {
	file string
	kind string
	body []byte
}

func readDocs(t *testing.T, pattern string) []doc {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests match %s (%v)", pattern, err)
	}
	var out []doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, part := range bytes.Split(data, []byte("\n---\n")) {
			var meta struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(part, &meta); err != nil {
				t.Fatalf("%s doc %d: %v", f, i+1, err)
			}
			out = append(out, doc{file: fmt.Sprintf("%s#%d", f, i+1), kind: meta.Kind, body: part})
		}
	}
	return out
}

func decode(t *testing.T, d doc, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(d.body, v); err != nil {
		t.Errorf("%s: %v", d.file, err)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	claims := map[string]bool{}
	var jobs []*batchv1.Job
	for _, d := range readDocs(t, "k8s/*.yaml") {
		switch d.kind {
		case "PersistentVolumeClaim":
			var pvc corev1.PersistentVolumeClaim
			decode(t, d, &pvc)
			if pvc.APIVersion != "v1" || pvc.Name == "" || len(pvc.Spec.AccessModes) == 0 {
				t.Errorf("%s: PVC needs apiVersion v1, a name and access modes", d.file)
			}
			if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.IsZero() {
				t.Errorf("%s: PVC %s requests no storage", d.file, pvc.Name)
			}
			claims[pvc.Name] = true
		case "Job":
			var j batchv1.Job
			decode(t, d, &j)
			if j.APIVersion != "batch/v1" {
				t.Errorf("%s: apiVersion %q", d.file, j.APIVersion)
			}
			jobs = append(jobs, &j)
		case "Kustomization":
			checkKustomization(t, d)
		default:
			t.Errorf("%s: unexpected kind %q", d.file, d.kind)
		}
	}
	var indexed int
	for _, j := range jobs {
		checkPodSpec(t, j, claims)
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			indexed++
			checkIndexedJob(t, j)
		}
	}
	if indexed != 1 || len(jobs) != 2 {
		t.Errorf("%d jobs, %d indexed: want the shards Job (indexed) and the merge Job", len(jobs), indexed)
	}
}

// checkPodSpec: what the API server would refuse in a Job's pod template.
func checkPodSpec(t *testing.T, j *batchv1.Job, claims map[string]bool) {
	spec := j.Spec.Template.Spec
	if p := spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
		t.Errorf("job %s: restartPolicy %q (a Job needs Never or OnFailure)", j.Name, p)
	}
	vols := map[string]bool{}
	for _, v := range spec.Volumes {
		vols[v.Name] = true
		if c := v.PersistentVolumeClaim; c != nil && !claims[c.ClaimName] {
			t.Errorf("job %s: volume %s claims %q, which no manifest defines", j.Name, v.Name, c.ClaimName)
		}
	}
	if len(spec.Containers) == 0 {
		t.Errorf("job %s: no containers", j.Name)
	}
	for _, c := range spec.Containers {
		if c.Image == "" || c.Name == "" {
			t.Errorf("job %s: container without name or image", j.Name)
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("job %s: mount of undeclared volume %q", j.Name, m.Name)
			}
		}
	}
}

// checkIndexedJob: one pod per shard, and srutest told how many there are.
func checkIndexedJob(t *testing.T, j *batchv1.Job) {
	if j.Spec.Completions == nil {
		t.Fatalf("job %s: indexed without completions", j.Name)
	}
	c := j.Spec.Template.Spec.Containers[0]
	shards := ""
	for _, e := range c.Env {
		if e.Name == "SRUTEST_SHARDS" {
			shards = e.Value
		}
	}
	if want := fmt.Sprint(*j.Spec.Completions); shards != want {
		t.Errorf("job %s: SRUTEST_SHARDS=%q, completions %s: the shards would not cover the plan", j.Name, shards, want)
	}
	args := strings.Join(c.Args, " ")
	if !strings.Contains(args, "--shard auto") {
		t.Errorf("job %s: args %q lack --shard auto", j.Name, args)
	}
	if !strings.Contains(args, "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("job %s: args %q: each shard needs its own run directory", j.Name, args)
	}
	if slices.Contains(c.Command, "sh") || slices.Contains(c.Command, "/bin/sh") {
		t.Errorf("job %s: runs a shell", j.Name)
	}
}

// kustomization is the part of kustomize's Kustomization these files use;
// strict decoding rejects anything else.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Patches    []struct {
		Path string `json:"path"`
	} `json:"patches"`
}

func checkKustomization(t *testing.T, d doc) {
	var k kustomization
	decode(t, d, &k)
	dir := filepath.Dir(strings.SplitN(d.file, "#", 2)[0])
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("%s: resource %s: %v", d.file, r, err)
		}
	}
	for _, p := range k.Patches {
		var j batchv1.Job
		decode(t, doc{file: filepath.Join(dir, p.Path), body: mustRead(t, filepath.Join(dir, p.Path))}, &j)
		if j.Name != "srutest-shards" || len(j.Spec.Template.Spec.Containers) != 1 || j.Spec.Template.Spec.Containers[0].Name != "srutest" {
			t.Errorf("%s: patch %s must target container srutest of Job srutest-shards", d.file, p.Path)
		}
	}
}

// Both KVM overlays decode and patch the shards Job.
func TestKVMOverlays(t *testing.T) {
	for _, o := range []string{"kvm-device-plugin", "kvm-privileged"} {
		docs := readDocs(t, filepath.Join("k8s", o, "kustomization.yaml"))
		for _, d := range docs {
			checkKustomization(t, d)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
