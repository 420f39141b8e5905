#include "crc64.h"

/*
 * table[b] is the CRC register after shifting the byte b through it, eight
 * steps of "shift right, xor the reflected polynomial 0xc96c5795d7870f42
 * when a one falls out". Written out rather than computed at first use, so
 * that threads calling crc64() at once share nothing but constants.
 * tests/unit/test_crc64.c checks every entry against the bit-by-bit
 * definition.
 */
static const uint64_t table[256] = {
    0x0000000000000000u, 0xb32e4cbe03a75f6fu, 0xf4843657a840a05bu, 0x47aa7ae9abe7ff34u,
    0x7bd0c384ff8f5e33u, 0xc8fe8f3afc28015cu, 0x8f54f5d357cffe68u, 0x3c7ab96d5468a107u,
    0xf7a18709ff1ebc66u, 0x448fcbb7fcb9e309u, 0x0325b15e575e1c3du, 0xb00bfde054f94352u,
    0x8c71448d0091e255u, 0x3f5f08330336bd3au, 0x78f572daa8d1420eu, 0xcbdb3e64ab761d61u,
    0x7d9ba13851336649u, 0xceb5ed8652943926u, 0x891f976ff973c612u, 0x3a31dbd1fad4997du,
    0x064b62bcaebc387au, 0xb5652e02ad1b6715u, 0xf2cf54eb06fc9821u, 0x41e11855055bc74eu,
    0x8a3a2631ae2dda2fu, 0x39146a8fad8a8540u, 0x7ebe1066066d7a74u, 0xcd905cd805ca251bu,
    0xf1eae5b551a2841cu, 0x42c4a90b5205db73u, 0x056ed3e2f9e22447u, 0xb6409f5cfa457b28u,
    0xfb374270a266cc92u, 0x48190ecea1c193fdu, 0x0fb374270a266cc9u, 0xbc9d3899098133a6u,
    0x80e781f45de992a1u, 0x33c9cd4a5e4ecdceu, 0x7463b7a3f5a932fau, 0xc74dfb1df60e6d95u,
    0x0c96c5795d7870f4u, 0xbfb889c75edf2f9bu, 0xf812f32ef538d0afu, 0x4b3cbf90f69f8fc0u,
    0x774606fda2f72ec7u, 0xc4684a43a15071a8u, 0x83c230aa0ab78e9cu, 0x30ec7c140910d1f3u,
    0x86ace348f355aadbu, 0x3582aff6f0f2f5b4u, 0x7228d51f5b150a80u, 0xc10699a158b255efu,
    0xfd7c20cc0cdaf4e8u, 0x4e526c720f7dab87u, 0x09f8169ba49a54b3u, 0xbad65a25a73d0bdcu,
    0x710d64410c4b16bdu, 0xc22328ff0fec49d2u, 0x85895216a40bb6e6u, 0x36a71ea8a7ace989u,
    0x0adda7c5f3c4488eu, 0xb9f3eb7bf06317e1u, 0xfe5991925b84e8d5u, 0x4d77dd2c5823b7bau,
    0x64b62bcaebc387a1u, 0xd7986774e864d8ceu, 0x90321d9d438327fau, 0x231c512340247895u,
    0x1f66e84e144cd992u, 0xac48a4f017eb86fdu, 0xebe2de19bc0c79c9u, 0x58cc92a7bfab26a6u,
    0x9317acc314dd3bc7u, 0x2039e07d177a64a8u, 0x67939a94bc9d9b9cu, 0xd4bdd62abf3ac4f3u,
    0xe8c76f47eb5265f4u, 0x5be923f9e8f53a9bu, 0x1c4359104312c5afu, 0xaf6d15ae40b59ac0u,
    0x192d8af2baf0e1e8u, 0xaa03c64cb957be87u, 0xeda9bca512b041b3u, 0x5e87f01b11171edcu,
    0x62fd4976457fbfdbu, 0xd1d305c846d8e0b4u, 0x96797f21ed3f1f80u, 0x2557339fee9840efu,
    0xee8c0dfb45ee5d8eu, 0x5da24145464902e1u, 0x1a083bacedaefdd5u, 0xa9267712ee09a2bau,
    0x955cce7fba6103bdu, 0x267282c1b9c65cd2u, 0x61d8f8281221a3e6u, 0xd2f6b4961186fc89u,
    0x9f8169ba49a54b33u, 0x2caf25044a02145cu, 0x6b055fede1e5eb68u, 0xd82b1353e242b407u,
    0xe451aa3eb62a1500u, 0x577fe680b58d4a6fu, 0x10d59c691e6ab55bu, 0xa3fbd0d71dcdea34u,
    0x6820eeb3b6bbf755u, 0xdb0ea20db51ca83au, 0x9ca4d8e41efb570eu, 0x2f8a945a1d5c0861u,
    0x13f02d374934a966u, 0xa0de61894a93f609u, 0xe7741b60e174093du, 0x545a57dee2d35652u,
    0xe21ac88218962d7au, 0x5134843c1b317215u, 0x169efed5b0d68d21u, 0xa5b0b26bb371d24eu,
    0x99ca0b06e7197349u, 0x2ae447b8e4be2c26u, 0x6d4e3d514f59d312u, 0xde6071ef4cfe8c7du,
    0x15bb4f8be788911cu, 0xa6950335e42fce73u, 0xe13f79dc4fc83147u, 0x521135624c6f6e28u,
    0x6e6b8c0f1807cf2fu, 0xdd45c0b11ba09040u, 0x9aefba58b0476f74u, 0x29c1f6e6b3e0301bu,
    0xc96c5795d7870f42u, 0x7a421b2bd420502du, 0x3de861c27fc7af19u, 0x8ec62d7c7c60f076u,
    0xb2bc941128085171u, 0x0192d8af2baf0e1eu, 0x4638a2468048f12au, 0xf516eef883efae45u,
    0x3ecdd09c2899b324u, 0x8de39c222b3eec4bu, 0xca49e6cb80d9137fu, 0x7967aa75837e4c10u,
    0x451d1318d716ed17u, 0xf6335fa6d4b1b278u, 0xb199254f7f564d4cu, 0x02b769f17cf11223u,
    0xb4f7f6ad86b4690bu, 0x07d9ba1385133664u, 0x4073c0fa2ef4c950u, 0xf35d8c442d53963fu,
    0xcf273529793b3738u, 0x7c0979977a9c6857u, 0x3ba3037ed17b9763u, 0x888d4fc0d2dcc80cu,
    0x435671a479aad56du, 0xf0783d1a7a0d8a02u, 0xb7d247f3d1ea7536u, 0x04fc0b4dd24d2a59u,
    0x3886b22086258b5eu, 0x8ba8fe9e8582d431u, 0xcc0284772e652b05u, 0x7f2cc8c92dc2746au,
    0x325b15e575e1c3d0u, 0x8175595b76469cbfu, 0xc6df23b2dda1638bu, 0x75f16f0cde063ce4u,
    0x498bd6618a6e9de3u, 0xfaa59adf89c9c28cu, 0xbd0fe036222e3db8u, 0x0e21ac88218962d7u,
    0xc5fa92ec8aff7fb6u, 0x76d4de52895820d9u, 0x317ea4bb22bfdfedu, 0x8250e80521188082u,
    0xbe2a516875702185u, 0x0d041dd676d77eeau, 0x4aae673fdd3081deu, 0xf9802b81de97deb1u,
    0x4fc0b4dd24d2a599u, 0xfceef8632775faf6u, 0xbb44828a8c9205c2u, 0x086ace348f355aadu,
    0x34107759db5dfbaau, 0x873e3be7d8faa4c5u, 0xc094410e731d5bf1u, 0x73ba0db070ba049eu,
    0xb86133d4dbcc19ffu, 0x0b4f7f6ad86b4690u, 0x4ce50583738cb9a4u, 0xffcb493d702be6cbu,
    0xc3b1f050244347ccu, 0x709fbcee27e418a3u, 0x3735c6078c03e797u, 0x841b8ab98fa4b8f8u,
    0xadda7c5f3c4488e3u, 0x1ef430e13fe3d78cu, 0x595e4a08940428b8u, 0xea7006b697a377d7u,
    0xd60abfdbc3cbd6d0u, 0x6524f365c06c89bfu, 0x228e898c6b8b768bu, 0x91a0c532682c29e4u,
    0x5a7bfb56c35a3485u, 0xe955b7e8c0fd6beau, 0xaeffcd016b1a94deu, 0x1dd181bf68bdcbb1u,
    0x21ab38d23cd56ab6u, 0x9285746c3f7235d9u, 0xd52f0e859495caedu, 0x6601423b97329582u,
    0xd041dd676d77eeaau, 0x636f91d96ed0b1c5u, 0x24c5eb30c5374ef1u, 0x97eba78ec690119eu,
    0xab911ee392f8b099u, 0x18bf525d915feff6u, 0x5f1528b43ab810c2u, 0xec3b640a391f4fadu,
    0x27e05a6e926952ccu, 0x94ce16d091ce0da3u, 0xd3646c393a29f297u, 0x604a2087398eadf8u,
    0x5c3099ea6de60cffu, 0xef1ed5546e415390u, 0xa8b4afbdc5a6aca4u, 0x1b9ae303c601f3cbu,
    0x56ed3e2f9e224471u, 0xe5c372919d851b1eu, 0xa26908783662e42au, 0x114744c635c5bb45u,
    0x2d3dfdab61ad1a42u, 0x9e13b115620a452du, 0xd9b9cbfcc9edba19u, 0x6a978742ca4ae576u,
    0xa14cb926613cf817u, 0x1262f598629ba778u, 0x55c88f71c97c584cu, 0xe6e6c3cfcadb0723u,
    0xda9c7aa29eb3a624u, 0x69b2361c9d14f94bu, 0x2e184cf536f3067fu, 0x9d36004b35545910u,
    0x2b769f17cf112238u, 0x9858d3a9ccb67d57u, 0xdff2a94067518263u, 0x6cdce5fe64f6dd0cu,
    0x50a65c93309e7c0bu, 0xe388102d33392364u, 0xa4226ac498dedc50u, 0x170c267a9b79833fu,
    0xdcd7181e300f9e5eu, 0x6ff954a033a8c131u, 0x28532e49984f3e05u, 0x9b7d62f79be8616au,
    0xa707db9acf80c06du, 0x14299724cc279f02u, 0x5383edcd67c06036u, 0xe0ada17364673f59u,
};

uint64_t crc64_update(uint64_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    /* The register starts at all ones and the result is complemented:
     * undoing the final xor first continues where crc left off. */
    uint64_t r = ~crc;
    for (size_t i = 0; i < len; i++)
        r = table[(r ^ p[i]) & 0xff] ^ (r >> 8);
    return ~r;
}

uint64_t crc64(const void *data, size_t len)
{
    return crc64_update(0, data, len);
}
