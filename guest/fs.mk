# guest/fs.mk: the guest file system (guest/fs, guest/sys/sys_fs*.c): guest objects and host unit tests.
FS_GUEST_SRCS := $(sort $(wildcard guest/fs/*.c guest/sys/sys_fs*.c))

# guest/build.mk already links guest/fs/*.c and guest/sys/*.c into the kernel (its own wildcard).

# Standalone compile check with the guest flags (the core's rules build the real objects).
FS_GUEST_CFLAGS := -std=gnu11 -O2 -fno-pie -ffreestanding -nostdinc -Iguest/include -Iproto \
	-isystem $(shell $(CC) -print-file-name=include) -idirafter /usr/include/x86_64-linux-gnu \
	-idirafter /usr/include -mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-Wall -Wextra -Werror -MMD -MP
FS_GUEST_OBJS := $(patsubst %.c,$(BUILD)/fs-guest/%.o,$(FS_GUEST_SRCS))

$(BUILD)/fs-guest/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(FS_GUEST_CFLAGS) -c $< -o $@

.PHONY: fs-guest-check
fs-guest-check: $(FS_GUEST_OBJS)

# Host unit tests: the same sources under ASan+UBSan with a shim for k.h (tests/unit/fs_shim.c).
TESTED_SRCS += $(FS_GUEST_SRCS) tests/unit/fs_shim.c
# Guest headers only (guest/include/string.h shadows libc's); no libc struct stat or fcntl.h in these objects.
$(patsubst %.c,$(BUILD)/tests/obj/%.o,$(FS_GUEST_SRCS)): TEST_CFLAGS += -Iguest/include
