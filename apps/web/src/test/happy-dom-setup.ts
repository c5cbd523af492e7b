// happy-dom answers `nodeName` from subclass getters, and Node.prototype's own
// getter returns ''. DOMPurify (like the spec) reads it through Node.prototype,
// so under happy-dom it would sanitise nothing. Dispatch to the subclass getter.
const base = Object.getOwnPropertyDescriptor(Node.prototype, 'nodeName')

Object.defineProperty(Node.prototype, 'nodeName', {
  configurable: true,
  get(this: Node) {
    for (
      let p = Object.getPrototypeOf(this);
      p && p !== Node.prototype;
      p = Object.getPrototypeOf(p)
    ) {
      const own = Object.getOwnPropertyDescriptor(p, 'nodeName')
      if (own?.get) return own.get.call(this)
    }
    return base?.get?.call(this)
  },
})
