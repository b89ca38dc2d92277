# loch: the two commands a newcomer needs are `make run` and `make test`.
# Everything else here is for developers.

BUILD_DIR ?= build
JOBS      ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all setup build run test sanitize bench fuzz format clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | setup
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: setup $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Creates ./lake, generates the sample store's data, loads it and answers three business questions.
run: build
	@bash scripts/demo.sh $(BUILD_DIR)/src/cli/loch

# Every test: unit tests next to the code, integration and end-to-end tests under tests/.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The unit and end-to-end tests under ASan + UBSan, and the concurrent parts under TSan (clang-14;
# build-fuzz/ and build-tsan/); see scripts/sanitize.sh.
sanitize: setup
	@bash scripts/sanitize.sh

bench: build
	@bash bench/run.sh $(BUILD_DIR)
	@bash bench/run_ctas.sh $(BUILD_DIR)
	@bash bench/run_etl.sh $(BUILD_DIR)
	@bash bench/run_compact.sh $(BUILD_DIR)
	@bash bench/run_s3.sh $(BUILD_DIR)
	@bash bench/run_server.sh $(BUILD_DIR)
	@bash bench/run_pgwire.sh $(BUILD_DIR)
	@bash bench/run_ingest.sh $(BUILD_DIR)
	@bash bench/run_tls.sh $(BUILD_DIR)
	@bash bench/run_journal.sh $(BUILD_DIR)
	@bash bench/run_crawl.sh $(BUILD_DIR)
	@bash bench/run_orchestrate.sh $(BUILD_DIR)
	@bash bench/run_console.sh $(BUILD_DIR)

# libFuzzer targets (clang-14, ASan + UBSan), each run FUZZ_SECONDS (default 60); see fuzz/.
fuzz: setup
	@bash scripts/fuzz.sh

format:
	find src tests bench fuzz -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) build-fuzz build-tsan
