package ubuntu

import "testing"

func TestPlanKey(t *testing.T) {
	r := &Resolver{}
	res := &Resolution{Query: Query{Series: "noble", Pocket: "updates", Flavour: "generic", Meta: "linux-image-virtual"}, Archive: "http://a/ubuntu", Dist: "noble-updates"}
	base := r.planKey([]byte("signed 1"), res)
	if r.planKey([]byte("signed 1"), res) != base {
		t.Error("same inputs, different keys")
	}
	if r.planKey([]byte("signed 2"), res) == base {
		t.Error("a new InRelease keeps the key")
	}
	other := *res
	other.Query.Meta = "linux-image-generic"
	if r.planKey([]byte("signed 1"), &other) == base {
		t.Error("another query keeps the key")
	}
	other = *res
	other.EndOfLife, other.Archive = true, "http://old/ubuntu"
	if r.planKey([]byte("signed 1"), &other) == base {
		t.Error("old-releases keeps the key")
	}
	if (&Resolver{Contents: ContentsOff}).planKey([]byte("signed 1"), res) == base {
		t.Error("another Contents mode keeps the key")
	}
	if (&Resolver{}).planPath(base) != "" {
		t.Error("no CacheDir: no plan file")
	}
}
