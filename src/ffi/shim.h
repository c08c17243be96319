/* Functions for the httpd/APR macros bindgen cannot translate (rings, bucket dispatch, variadic logging). */
#ifndef RWSGI_SHIM_H
#define RWSGI_SHIM_H
#include "httpd.h"
#include "apr_buckets.h"

void rwsgi_shim_log_rerror(const char *file, int line, int module_index, int level, apr_status_t status,
                           const request_rec *r, const char *msg);
void rwsgi_shim_log_error(const char *file, int line, int module_index, int level, apr_status_t status,
                          const server_rec *s, const char *msg);

void rwsgi_shim_brigade_insert_tail(apr_bucket_brigade *bb, apr_bucket *b);
int rwsgi_shim_brigade_empty(apr_bucket_brigade *bb);
apr_bucket *rwsgi_shim_brigade_first(apr_bucket_brigade *bb);
apr_bucket *rwsgi_shim_brigade_sentinel(apr_bucket_brigade *bb);
apr_bucket *rwsgi_shim_bucket_next(apr_bucket *b);
int rwsgi_shim_bucket_is_eos(apr_bucket *b);
int rwsgi_shim_bucket_is_metadata(apr_bucket *b);
int rwsgi_shim_bucket_is_error(apr_bucket *b);
int rwsgi_shim_bucket_error_status(apr_bucket *b);
apr_status_t rwsgi_shim_bucket_read(apr_bucket *b, const char **str, apr_size_t *len, int block);
void rwsgi_shim_bucket_delete(apr_bucket *b);
#endif
