import { AddressNotAllowedError, assertPacsAddress, parseAllowedHosts } from './address-policy';

/** A resolver answering from a table, as DNS would. */
const dns: Record<string, string[]> = {
  'pacs.hospital.org': ['10.2.3.4'],
  'orthanc.radiology.hospital.org': ['10.9.0.7'],
  'metadata.internal': ['169.254.169.254'],
  'mixed.example': ['10.2.3.4', '169.254.169.254'],
  'public.example': ['203.0.113.9'],
  localhost: ['127.0.0.1', '::1'],
};
const resolve = async (host: string) => {
  if (!dns[host]) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
  return dns[host];
};

describe('assertPacsAddress', () => {
  const allowList = ['pacs.hospital.org', '*.radiology.hospital.org', '192.168.10.0/24', '127.0.0.1'];
  it.each<[string, string[] | null, RegExp | null]>([
    // Without a list: any PACS, never link-local or unspecified.
    ['http://pacs.hospital.org:8042/dicom-web', null, null],
    ['http://localhost:8042/dicom-web', null, null],
    ['http://10.0.0.5/dicom-web', null, null],
    ['http://169.254.169.254/latest/meta-data', null, /169\.254\.169\.254, a link-local or unspecified address/],
    ['http://metadata.internal/dicom-web', null, /link-local/],
    ['http://mixed.example/dicom-web', null, /link-local/],
    ['http://[fe80::1]/dicom-web', null, /link-local/],
    ['http://[::ffff:169.254.169.254]/dicom-web', null, /link-local/],
    ['http://0.0.0.0:6379/', null, /unspecified/],
    ['http://nowhere.example/dicom-web', null, /could not be resolved \(getaddrinfo ENOTFOUND nowhere\.example\)/],
    // With a list: names, "*." domains, addresses and ranges on it only.
    ['http://pacs.hospital.org/dicom-web', allowList, null],
    ['http://PACS.Hospital.org/dicom-web', allowList, null],
    ['http://orthanc.radiology.hospital.org/dicom-web', allowList, null],
    ['http://192.168.10.77/dicom-web', allowList, null],
    ['http://127.0.0.1:8042/dicom-web', allowList, null],
    ['http://public.example/dicom-web', allowList, /public\.example \(203\.0\.113\.9\) is not among the hosts this deployment allows/],
    ['http://192.168.11.1/dicom-web', allowList, /not among the hosts/],
    ['http://localhost:6379/', allowList, /localhost \(127\.0\.0\.1\)|localhost \(::1\)/],
    ['http://radiology.hospital.org.evil.example/dicom-web', allowList, /could not be resolved|not among/],
    // A listed name at a link-local address is still refused.
    ['http://metadata.internal/dicom-web', ['metadata.internal'], /link-local/],
  ])('%s with %j', async (url, allowedHosts, refused) => {
    const check = assertPacsAddress(url, { allowedHosts }, resolve);
    if (refused) {
      await expect(check).rejects.toBeInstanceOf(AddressNotAllowedError);
      await expect(check).rejects.toThrow(refused);
    } else await expect(check).resolves.toBeUndefined();
  });
});

describe('parseAllowedHosts', () => {
  it.each([['pacs'], ['*.hospital.org'], ['10.0.0.0/8'], ['fd00::/8'], ['10.1.2.3'], [' pacs.example , 10.0.0.0/8 ']])('accepts %j', (entry) => {
    expect(() => parseAllowedHosts(entry.split(','))).not.toThrow();
  });
  it.each([
    ['10.0.0.0/33', /invalid prefix length/],
    ['http://pacs', /neither a host name/],
    ['pacs:8042', /neither a host name/],
    ['*pacs.org', /neither a host name/],
  ])('refuses %j', (entry, message) => {
    expect(() => parseAllowedHosts([entry])).toThrow(message);
  });
});
