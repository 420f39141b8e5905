#ifndef CRC64_H
#define CRC64_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-64/XZ, the 64-bit CRC of the xz file format (ECMA-182 polynomial
 * 0x42f0e1eba9ea3693, reflected; initial value and final xor all ones):
 * crc64("123456789", 9) == 0x995dc9bbdf1939fa. The dump file's trailer
 * carries it. (Redis's RDB uses CRC-64/Jones instead; either catches every
 * burst of up to 64 flipped bits and any single flipped byte.)
 *
 * Table-driven, eight bytes per step (crc64.c says why). Safe to call
 * from any thread.
 */

/* The CRC of data[0..len). crc64(NULL, 0) is 0. */
uint64_t crc64(const void *data, size_t len);

/* The CRC of the bytes crc was computed over followed by data[0..len):
 * crc64_update(crc64(a, n), b, m) == crc64(a followed by b, n + m), and
 * crc64_update(0, b, m) == crc64(b, m). For data that arrives in pieces. */
uint64_t crc64_update(uint64_t crc, const void *data, size_t len);

#endif /* CRC64_H */
