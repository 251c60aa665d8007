/* Runs nftables JSON documents in-process through libnftables (loaded on
 * first use; see net_nft_lib.c). */
#ifndef SV_NET_NET_NFT_LIB_H
#define SV_NET_NET_NFT_LIB_H

/* Runs doc (nft's JSON: {"nftables":[...]}) as one transaction: all of it
 * or none. what prefixes the error, which carries nftables' own message.
 * out (may be NULL) gets what the commands listed, as nft's JSON (malloc'd;
 * "" when nothing was listed). */
int sv_nft_lib_run(const char *doc, const char *what, char **out);

#endif
