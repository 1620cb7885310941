// The part of ua-parser-js 1.x (MIT) that the daemon uses; the package ships no types and @types/ua-parser-js
// describes 0.7.
declare module 'ua-parser-js' {
  interface UAResult {
    browser: { name?: string; version?: string; major?: string };
    os: { name?: string; version?: string };
    device: { type?: string; vendor?: string; model?: string };
  }
  function UAParser(userAgent: string): UAResult;
  export default UAParser;
}
