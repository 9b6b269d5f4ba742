/* datadir.h — where an installed compllm keeps its data: `make install PREFIX=P` puts the tools
 * in P/bin and the shipped compressors (the .gguf files and README.md of models/) in P/share/compllm, so a
 * tool looks beside itself: <dir of the executable>/../share/compllm, then
 * <dir of the executable>/../models (the source tree's bin/ next to models/). */
#ifndef CL_DATADIR_H
#define CL_DATADIR_H

/* The data directories that exist, in lookup order (at most 2): *dirs[i] malloc'd, free each.
 * Returns how many. */
int cl_data_dirs(char *dirs[2]);
/* The first <datadir>/name that is readable (malloc'd), or NULL. */
char *cl_data_find(const char *name);

#endif
