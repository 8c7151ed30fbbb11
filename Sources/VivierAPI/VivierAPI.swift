// The generated code lives in the build directory; this file gives the target a source of its own.
