/* torch_save.h — a 2-D tensor in the file format of torch.save (PyTorch >= 1.6 "zip" format),
 * written from C, for servers that take tensors as torch.save bytes (vLLM's prompt_embeds).
 *
 * The archive (zip_store.h, stored entries) holds, under the top folder "archive/":
 *   data.pkl        pickle protocol 2: torch._utils._rebuild_tensor_v2(storage, 0, (rows, cols),
 *                   (cols, 1), False, collections.OrderedDict()) where storage is the persistent
 *                   id ('storage', torch.<Float|BFloat16|Half>Storage, '0', 'cpu', rows*cols)
 *   data/0          the storage: rows*cols elements, little-endian, row-major
 *   version         "3\n", the record format version torch 1.6 .. 2.x writes and reads
 *   .data/version   the same, where newer torch looks first
 *   byteorder       "little" (torch >= 2.1 reads it; older torch ignores it)
 * Only globals that torch.load(weights_only=True) allows are named (torch 1.13's
 * _weights_only_unpickler: _rebuild_tensor_v2, the storage classes, OrderedDict), and only the
 * opcodes it implements (PROTO GLOBAL MARK BINUNICODE BININT1/2 BININT LONG1 TUPLE TUPLE2
 * BINPERSID NEWFALSE EMPTY_TUPLE REDUCE STOP). */
#ifndef CL_TORCH_SAVE_H
#define CL_TORCH_SAVE_H
#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

/* The pickle (data.pkl) of a [rows, cols] tensor of dtype dt, malloc'd, *size bytes. */
uint8_t *cl_torch_pickle_2d(int64_t rows, int64_t cols, cl_dtype dt, size_t *size);

/* x [rows, cols] f32 converted to dt (CL_F32, CL_BF16 or CL_F16; round to nearest even) and
 * saved as torch.save would: malloc'd archive of *size bytes, or NULL (cl_error: other dtype,
 * empty tensor, archive over 4 GiB, a finite value beyond f16/bf16: "torch.save: row R: element E
 * is 70000, beyond f16 (max 65504)"; inf and nan are kept). */
uint8_t *cl_torch_save_2d(const float *x, int64_t rows, int64_t cols, cl_dtype dt, size_t *size);

#endif
