{
  "targets": [
    {
      "target_name": "systemd_native",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "src/addon.cc",
            "src/common.cc",
            "src/daemon.cc",
            "src/id128.cc",
            "src/journal.cc",
            "src/journal_queue.cc",
            "src/libsystemd.cc",
            "src/poll.cc",
            "src/reader.cc",
            "src/unix.cc"
          ],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": [
            "NAPI_VERSION=8",
            "NAPI_CPP_EXCEPTIONS",
            "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
            "NODE_ADDON_API_DISABLE_DEPRECATED",
            "_GNU_SOURCE"
          ],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions"],
          "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
          "libraries": ["-ldl", "-lpthread"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
