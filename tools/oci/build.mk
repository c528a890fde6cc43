# tools/oci/build.mk: ukvm-oci, the runc-compatible runtime containerd drives (tools/oci), on libukvm and ukvm-build's packer.
OCI_LIB  := tools/oci/ocicache.c tools/oci/ocispec.c tools/oci/ocipath.c tools/oci/ocipack.c tools/oci/ocistate.c tools/oci/ocilog.c \
            tools/oci/ocicmd.c tools/oci/ocivm.c tools/oci/ocinet.c tools/oci/ocicgroup.c
# config.json and the state files are parsed with jansson (libjansson-dev, tools/deps.sh).
OCI_LIBS := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

$(BUILD)/ukvm-oci: $(patsubst %.c,$(BUILD)/tools/%.o,tools/oci/main.c $(OCI_LIB) $(IMGBUILD_LIB)) $(BUILD)/libukvm.a
	$(Q)$(CC) -o $@ $^ $(HOST_LIBS) $(OCI_LIBS)

all: $(BUILD)/ukvm-oci

# bench-oci: `ctr run --rm` of hello under a private containerd, ukvm-oci against runc (tools/bench/ocibench.sh).
.PHONY: bench-oci
bench-oci: $(BUILD)/ukvm-oci $(BUILD)/apps/hello
	$(Q)tools/bench/ocibench.sh $(BUILD) $(or $(OCI_RUNS),20)
