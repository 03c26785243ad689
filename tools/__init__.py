"""Developer tools: a stand-in for Metacontroller, the local run, benchmarks."""
