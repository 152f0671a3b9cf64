package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/floe-io/floe/plugins"
)

// pluginFlags choose the WebAssembly plugins a transformer runs.
type pluginFlags struct {
	Plugin        []string      `help:"WebAssembly plugin to run on every item (see plugins/ABI.md). Repeatable: plugins run in the order given, each on the output of the one before. Every transformer of a table must run the same plugins." sep:"none" placeholder:"FILE.wasm"`
	PluginConfig  []string      `help:"JSON configuration of the plugin in the same position: the first --plugin-config goes to the first --plugin, and so on ({} for those left out)." sep:"none" placeholder:"JSON"`
	PluginTimeout time.Duration `help:"Deadline of each call into a plugin. A batch that misses it (or traps) is retried in halves on fresh instances until the items at fault stand alone; they go to the dead-letter stream (floe dlq)." default:"10s" placeholder:"DURATION"`
	PluginMemory  byteSize      `help:"Memory cap of each plugin instance." default:"256MiB" placeholder:"SIZE"`
	PluginCache   string        `help:"Directory of compiled plugin code, so that later starts skip compiling (default: floe/wasm in the user cache directory)." placeholder:"DIR"`
}

// load compiles and configures the plugins. The caller closes them with
// the returned function.
func (f pluginFlags) load(ctx context.Context, log *slog.Logger) ([]plugins.Stage, func(), error) {
	if len(f.PluginConfig) > len(f.Plugin) {
		return nil, nil, fmt.Errorf("%d --plugin-config values for %d --plugin values: give one configuration per plugin, in the same order", len(f.PluginConfig), len(f.Plugin))
	}
	if len(f.Plugin) == 0 {
		return nil, func() {}, nil
	}
	cache := f.PluginCache
	if cache == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(dir, "floe", "wasm")
		}
	}
	opts := plugins.Options{CacheDir: cache, MemoryLimitBytes: uint64(f.PluginMemory), Timeout: f.PluginTimeout}
	var stages []plugins.Stage
	closeAll := func() {
		for _, st := range stages {
			_ = st.Runtime.Close(context.Background())
		}
	}
	for i, path := range f.Plugin {
		var config []byte
		if i < len(f.PluginConfig) {
			config = []byte(f.PluginConfig[i])
		}
		st, err := plugins.Load(ctx, path, config, opts)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("--plugin: %w", err)
		}
		stages = append(stages, st)
		log.Info("plugin loaded", "file", path, "plugin", st.Runtime.Info().String(), "module", st.Runtime.Digest()[:12])
	}
	return stages, closeAll, nil
}
