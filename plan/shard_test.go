package plan

import (
	"strings"
	"testing"
)

func TestShardFromEnv(t *testing.T) {
	for _, tc := range []struct {
		idx, count string
		want       Shard
		err        string
	}{
		{"0", "3", Shard{1, 3}, ""},
		{"2", "3", Shard{3, 3}, ""},
		{"0", "1", Shard{1, 1}, ""},
		{"3", "3", Shard{}, "want 0 ≤ index < count"},
		{"-1", "3", Shard{}, "want 0 ≤ index < count"},
		{"x", "3", Shard{}, "want 0 ≤ index < count"},
		{"0", "0", Shard{}, "want 0 ≤ index < count"},
		{"", "3", Shard{}, "JOB_COMPLETION_INDEX"},
		{"1", "", Shard{}, "SRUTEST_SHARDS"},
	} {
		env := map[string]string{EnvCompletionIndex: tc.idx, EnvShards: tc.count}
		got, err := ShardFromEnv(func(k string) string { return env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("index %q count %q: err %v, want %q", tc.idx, tc.count, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("index %q count %q: %+v, %v; want %+v", tc.idx, tc.count, got, err, tc.want)
		}
	}
}
