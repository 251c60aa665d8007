/* The minimal guest image the real-VM benchmarks boot (bench_image.c). */
#ifndef SV_BENCH_IMAGE_H
#define SV_BENCH_IMAGE_H

typedef struct {
	char *kernel, *initrd, *rootfs;
	char *boot_args; /* the manifest's bootArgs */
} bench_image;

/* Builds (or finds cached) the tests' minimal image ($SMARTVM_TEST_IMAGE_DIR,
 * default /var/tmp/smartvm-test-images) with the build tree's builder.
 * NULL on success, else why (static text). */
const char *bench_image_get(bench_image *im);
void bench_image_free(bench_image *im);

#endif
