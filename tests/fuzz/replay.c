/* Replays every file of a corpus directory through LLVMFuzzerTestOneInput (non-clang builds). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
        int count = 0;
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        fprintf(stderr, "replay: cannot open %s\n", argv[i]);
                        return 1;
                }
                struct dirent *e;
                while ((e = readdir(d))) {
                        if (e->d_name[0] == '.')
                                continue;
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        FILE *f = fopen(path, "rb");
                        if (!f)
                                continue;
                        uint8_t *buf = malloc(1 << 20);
                        size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
                        fclose(f);
                        if (!buf)
                                return 1;
                        /* A right-sized copy lets ASan see reads past the end of the input. */
                        uint8_t *exact = malloc(n ? n : 1);
                        memcpy(exact, buf, n);
                        free(buf);
                        LLVMFuzzerTestOneInput(exact, n);
                        free(exact);
                        count++;
                }
                closedir(d);
        }
        if (count == 0) {
                fprintf(stderr, "replay: empty corpus\n");
                return 1;
        }
        printf("replayed %d inputs\n", count);
        return 0;
}
